"""Proposals for new groups: any member proposes, the network's admins decide."""
