"""HTTP area: policy templates, attachments, dry runs and compliance."""
