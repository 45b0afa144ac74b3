"""Webshop platforms' webhook payloads in the service's own terms (issue 11). Pure: raw
bytes and headers in, snapshots out; no AWS, no clock but the one passed in.

- ``common``: the signature check both platforms use, reading a body without losing a
  64-bit id or a price to a float, and the platform-neutral snapshot of an order
  (``ShopOrder``) that webhooks and the catch-up both produce.
- ``shopify`` and ``woocommerce``: each platform's payloads as it documents them.

What a snapshot does to a stored order (a new order, a quantity change, a cancelled or
new line, a return to stock) is the webhook service's business, not this package's.
"""
