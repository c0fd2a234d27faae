import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import ApiToken, Company, CreditNoteFormat, Membership
from accounts.party_rules import clean_party
from accounts.tokens import display_prefix, hash_token_key, new_token_key
from config.errors import Violations
from numbering.services import series_create_defaults

COMPANY_PROFILE_FIELDS = (
    "name",
    "cif",
    "vat_code",
    "is_vat_payer",
    "registration_number",
    "address",
    "city",
    "county",
    "country",
    "postal_code",
    "iban",
    "bank",
    "email",
    "phone",
    "currency",
    "credit_note_format",
)


def _clean_company(values: dict) -> dict:
    violations = Violations()
    if not (values.get("name") or "").strip():
        violations.add("name", "A company needs a name.")
    if not values.get("cif"):
        violations.add("cif", "A company needs its CIF.")
    if values.get("credit_note_format") not in CreditNoteFormat.values:
        violations.add("creditNoteFormat", f"One of {', '.join(CreditNoteFormat.values)}.")
    cleaned = clean_party(values, violations)
    iban = (cleaned.get("iban") or "").replace(" ", "").upper()
    if iban and not _iban_is_valid(iban):
        violations.add("iban", "Not a valid IBAN (ISO 13616 check digits).")
    cleaned["iban"] = iban
    violations.raise_if_any()
    if cleaned.get("is_vat_payer") and not cleaned.get("vat_code"):
        cleaned["vat_code"] = f"RO{cleaned['cif']}"
    if not cleaned.get("is_vat_payer"):
        cleaned["vat_code"] = cleaned.get("vat_code") or ""
    return cleaned


def _iban_is_valid(iban: str) -> bool:
    if not 15 <= len(iban) <= 34 or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def company_create(*, name: str, cif: str, owner=None, **profile) -> Company:
    """A company with its default series (FAC- invoices, CN- credit notes), and its owner as a member."""
    defaults = {
        field.name: field.get_default()
        for field in Company._meta.concrete_fields
        if field.name in COMPANY_PROFILE_FIELDS
    }
    values = _clean_company({**defaults, **profile, "name": name, "cif": cif})
    with transaction.atomic():
        company = Company.objects.create(**values)
        series_create_defaults(company=company)
        if owner is not None:
            Membership.objects.create(user=owner, company=company, role=Membership.Role.OWNER)
    return company


def company_update(*, company: Company, **changes) -> Company:
    with transaction.atomic():
        locked = Company.objects.select_for_update().get(pk=company.pk)
        current = {field: getattr(locked, field) for field in COMPANY_PROFILE_FIELDS}
        if "cif" in changes and "vat_code" not in changes and current["vat_code"] == f"RO{current['cif']}":
            current["vat_code"] = ""  # follow the new CIF
        values = _clean_company({**current, **changes})
        for field, value in values.items():
            setattr(locked, field, value)
        locked.save()
        return locked


def user_get_or_create(*, username: str):
    user, _ = get_user_model().objects.get_or_create(username=username)
    return user


def membership_add(*, user, company: Company, role: str = Membership.Role.MEMBER) -> Membership:
    membership, _ = Membership.objects.get_or_create(user=user, company=company, defaults={"role": role})
    return membership


def api_token_create(*, user, name: str = "", expires_at: datetime.datetime | None = None) -> tuple[ApiToken, str]:
    """The token row and the key itself, which is shown once and never stored."""
    key = new_token_key()
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=hash_token_key(key), prefix=display_prefix(key), expires_at=expires_at
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    token.revoked = True
    return token
