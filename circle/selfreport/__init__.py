"""Merchants report for themselves: the QR sticker's link, the report page, the tracking page.

No account: the merchant's own link (:mod:`circle.selfreport.links`) is the credential, and
the workflow treats whoever holds it as :class:`~circle.selfreport.links.MerchantLink`, an
actor holding :attr:`~circle.permissions.Cap.SELF_REPORT` on that merchant's issues only.
What the merchant sends lands at level 1 in the circle's queue with the source 商户扫码; the
liaison confirms it or merges it into an open case. CSRF stays on; reports are rate-limited
per link and per address (Flask-Limiter), and bodies and photos are size-limited.
"""
