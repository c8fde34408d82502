from salesdesk.accounts.visibility import can_administer


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    return {"can_administer": bool(user and user.is_authenticated and can_administer(user))}
