"""What leaves warmline on its own initiative: outbound webhooks."""
