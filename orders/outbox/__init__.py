"""The outbox: events recorded with the change they announce, published after commit.

Mechanism only: it knows no consumer. Apps subscribe theirs from AppConfig.ready.
"""
