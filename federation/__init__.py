"""The pure domain of Affinity Federation: networks, spaces, policy, permissions, sharing.

Nothing here does I/O or imports a web framework; everything is tested without a database.
"""
