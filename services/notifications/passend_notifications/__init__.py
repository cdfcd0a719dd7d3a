"""The notifications service: who is told what about a case, by e-mail and webhook, once."""
