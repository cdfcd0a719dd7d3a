"""SQL migrations of the audit tables (the read log), applied in each service's database."""
