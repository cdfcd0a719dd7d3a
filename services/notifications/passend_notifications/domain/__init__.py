"""Pure rules of notifications: recipients, templates, message ids, retries, signatures."""
