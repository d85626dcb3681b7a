"""The floor: the restaurant's tables, the QR code on each, and (to come) each table's open tab.

A room of orders, as pacing and coupons are: checkout needs the tables (a
dine-in order names one), and the orders are the tables' history. The QR
code's link is signed (orders.floor.links) so a guest cannot move their
order to another table by editing it.
"""
