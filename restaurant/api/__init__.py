"""The REST API's shared machinery: the one error shape, strict input, bounded bodies, the base view.

Resources live in their apps (`menu/api.py`, `orders/api.py`, `kitchen/api.py`,
`accounts/api.py`), one view per operation calling the same services the
pages call; `restaurant/api/urls.py` wires them under `/api/v1/`.
"""
