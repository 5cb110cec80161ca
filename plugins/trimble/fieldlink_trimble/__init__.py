"""fieldlink provider plugin for Trimble Agriculture (Trimble Identity).

OAuth 2.0 authorization code on Trimble Identity with HTTP Basic client
authentication and the application name Trimble assigned inside the scope
(``openid <applicationName>``). Refresh tokens are single use: each refresh returns
a new one, which the core stores before anyone sees the new access token. After the
token exchange the grower also approves the app and picks organisations on
trimbleag.com, a further step of the flow. Lists page by ``bookmark`` objects, at
most 1000 records a call.
"""

from ._envelope import PROVIDER_ID
from ._provider import DEFAULT_BOOKMARK_PARAM, MAX_PAGE_SIZE, Trimble, __version__

plugin = Trimble()

__all__ = [
    "DEFAULT_BOOKMARK_PARAM",
    "MAX_PAGE_SIZE",
    "PROVIDER_ID",
    "Trimble",
    "__version__",
    "plugin",
]
