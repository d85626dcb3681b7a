"""Delivery partners: who subscribed to which order events, and signed webhooks to them."""
