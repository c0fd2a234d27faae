import uuid

from rest_framework.exceptions import PermissionDenied

from accounts.models import Company


def acting_company(*, user, header: str | None) -> Company:
    """The company a request acts for: X-Company, or the user's only company."""
    companies = Company.objects.filter(memberships__user=user)
    if header:
        try:
            company_uuid = uuid.UUID(header.strip())
        except ValueError:
            raise PermissionDenied("X-Company is not a company UUID.") from None
        company = companies.filter(uuid=company_uuid).first()
        if company is None:
            raise PermissionDenied("You are not a member of that company.")
        return company
    only = list(companies[:2])
    if len(only) == 1:
        return only[0]
    if not only:
        raise PermissionDenied("Your user belongs to no company.")
    raise PermissionDenied("X-Company is required: your user belongs to several companies.")
