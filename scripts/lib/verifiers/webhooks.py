"""Verifies webhook deliveries as a receiver written in Python would, with the Standard Webhooks
reference library. Reads a JSON list of {"secret", "headers", "body"} on stdin; prints a JSON
list with, for each, true or the library's refusal.

usage: webhooks.py < deliveries.json
"""
import json
import sys

from standardwebhooks.webhooks import Webhook

results = []
for delivery in json.load(sys.stdin):
    try:
        Webhook(delivery["secret"]).verify(delivery["body"], delivery["headers"])
        results.append(True)
    except Exception as e:  # the library raises its own WebhookVerificationError
        results.append(f"{type(e).__name__}: {e}")
print(json.dumps(results))
