"""Delivery channels: e-mail over SMTP and signed webhooks over HTTP."""
