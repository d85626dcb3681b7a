"""The nightly inventory: one report per night of the restaurant's stock, mailed to managers, kept in admin.

A room of orders rather than of the pantry (menu.pantry), which it reads:
settling what ended orders still hold, comparing use with what the cooked
orders' recipes predict and retiring expired coupons all need orders'
statuses and coupons, and menu must not import orders.
"""
