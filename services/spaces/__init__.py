"""HTTP area: spaces (nested affinity groups), their hierarchy, policy view and membership."""
