"""Short links ``/s/<code>`` to an invitation's signing page, for SMS and QR codes."""
