"""Kitchen pacing: what the kitchen cooks per 15-minute slot, when it is open, the ready time checkout quotes.

It lives in orders because checkout needs it and orders may not import the
kitchen; the live load is read from orders' own state (paid orders not yet
ready), and the kitchen only reads the time an order may reach its board.
"""
