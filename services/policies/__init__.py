"""HTTP area: policy templates, attachments and dry runs.

Also how rows become policy (``loading``) and how findings become 422s (``violations``).
"""
