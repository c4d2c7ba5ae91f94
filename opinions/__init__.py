"""ご意見 and 事前意見: sent by chat, read and answered by staff (the council's feedback indicator)."""
