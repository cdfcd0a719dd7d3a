"""The integration gateway: per-region, field-minimised event streams for outside organisations."""
