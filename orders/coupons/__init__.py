"""Coupons: codes that take a percentage or an amount off an order at checkout.

A room of orders, as pacing is: checkout prices the discount (orders.pricing)
and counts the coupon's uses in the order's own transaction
(orders.coupons.services.coupon_claim). A use is the order itself, so an order
that ends without the restaurant keeping any money (cancelled, expired
unpaid, refunded) gives its use back with no write of its own.
"""
