"""Notifications: an in-app inbox per user and email through SMTP, by each user's preferences."""
