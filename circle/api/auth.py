"""Who is calling the API: the bearer token of the request, and nothing else.

Only the ``Authorization: Bearer <token>`` header authenticates; the panel's session cookie is
never looked at (``current_user`` is not used anywhere in the API), so a signed-in browser
cannot be made to call the API on someone's behalf, and CSRF does not apply. The other way
round, Flask-Login knows nothing of tokens: a token does not open the panel.

The result is computed once per request and kept on ``g``: the rate limiter asks for it
first (to count per token), then the blueprint's ``before_request`` enforces it.
"""

from __future__ import annotations

from flask import g, request
from werkzeug.exceptions import Forbidden, Unauthorized

from circle.api.models import ApiToken
from circle.api.tokens import find_token, token_problem
from circle.i18n import lazy_gettext as _l

REALM = "circle-api"


def bearer_secret() -> str | None:
    """The token sent in the ``Authorization`` header, if it uses the Bearer scheme."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip() or None


def _authenticate() -> tuple[ApiToken | None, str | None]:
    secret = bearer_secret()
    if secret is None:
        return None, "missing"
    token = find_token(secret)
    if token is None:
        return None, "invalid"
    if token.is_revoked:
        return token, "revoked"
    return token, token_problem(token)


def request_token() -> tuple[ApiToken | None, str | None]:
    """``(token, problem)`` for this request, computed once.

    ``problem`` is ``None`` for a token that may act; otherwise ``"missing"`` or
    ``"invalid"`` (no token), ``"revoked"``, or ``"service_account_disabled"``. A revoked or
    disabled token is still returned, so that the audit log says which one was tried.
    """
    if "circle_api_auth" not in g:
        g.circle_api_auth = _authenticate()
    return g.circle_api_auth


def rate_limit_key() -> str:
    """Count requests per token; requests without a valid token per client address."""
    token, _problem = request_token()
    if token is not None:
        return f"api-token:{token.id}"
    return f"api-anonymous:{request.remote_addr or ''}"


def _challenge(error: str, description: str) -> dict:
    return {"WWW-Authenticate":
            f'Bearer realm="{REALM}", error="{error}", error_description="{description}"'}


def require_token() -> ApiToken:
    """The request's token, or a 401/403 raised in the API's error shape."""
    token, problem = request_token()
    if problem is None:
        return token
    if problem == "missing":
        error = Unauthorized()
        error.data = {"message": _l("Send an API token: Authorization: Bearer <token>."),
                      "headers": {"WWW-Authenticate": f'Bearer realm="{REALM}"'}}
        raise error
    if problem in ("invalid", "revoked"):
        error = Unauthorized()
        message = (_l("This API token has been revoked.") if problem == "revoked"
                   else _l("This API token is not valid."))
        error.data = {"message": message,
                      "headers": _challenge("invalid_token", f"token {problem}")}
        raise error
    error = Forbidden()
    error.data = {"message": _l("This token's service account is disabled or no longer a "
                                "hotline specialist of the token's community.")}
    raise error
