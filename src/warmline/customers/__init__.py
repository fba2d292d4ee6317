"""One customer across channels (docs/customers.md).

- `service.py`: identity resolution (which customer a channel's verified identifiers name; new
  verified identifiers attached; unverified ones never matched), the confirmation of an
  identifier after the fact (an email answered in a thread only we could have started), the
  administrators' merge of two customer records, and marking an identifier verified.
- `store.py`: the customers' audit log (`customer_events`), the customer's conversations on every
  channel, and the address an email conversation writes back to.
"""
