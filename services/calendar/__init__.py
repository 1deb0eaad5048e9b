"""Calendar feeds (.ics, RFC 5545): a member's secret feed of all their spaces, and a space's feed
for its members."""
