"""Plans and subscriptions: each period's invoice and its collection made exactly once by the
scheduler, with pauses, plan changes and stops on their dates."""
