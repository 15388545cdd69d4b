"""The sandbox bank: an eMandates acquirer and a few debtor banks inside the portal, speaking
iDx over HTTP on the portal's own address with keys of its own under ``instance/``."""
