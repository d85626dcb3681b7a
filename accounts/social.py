"""Social sign-in providers, configured from the environment.

A provider appears on the sign-in page when its client id is set. Providers
can instead be added as SocialApp rows in admin; both are read by allauth.
https://docs.allauth.org/en/latest/socialaccount/providers/openid_connect.html
"""

from __future__ import annotations

from typing import Any

from restaurant.env import env_str


def socialaccount_providers() -> dict[str, Any]:
    providers: dict[str, Any] = {}
    if client_id := env_str("GOOGLE_CLIENT_ID"):
        providers["google"] = {
            "APPS": [{"client_id": client_id, "secret": env_str("GOOGLE_CLIENT_SECRET"), "key": ""}],
            "SCOPE": ["openid", "profile", "email"],
            "AUTH_PARAMS": {"access_type": "online"},
            "OAUTH_PKCE_ENABLED": True,
        }
    if client_id := env_str("GITHUB_CLIENT_ID"):
        providers["github"] = {
            "APPS": [{"client_id": client_id, "secret": env_str("GITHUB_CLIENT_SECRET"), "key": ""}],
            # user:email lets allauth read the verified primary address.
            "SCOPE": ["read:user", "user:email"],
        }
    if client_id := env_str("OIDC_CLIENT_ID"):
        providers["openid_connect"] = {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": env_str("OIDC_PROVIDER_ID", "oidc"),
                    "name": env_str("OIDC_PROVIDER_NAME", "Single sign-on"),
                    "client_id": client_id,
                    "secret": env_str("OIDC_CLIENT_SECRET"),
                    "settings": {"server_url": env_str("OIDC_SERVER_URL")},
                }
            ],
        }
    return providers
