"""Value types shared by the sections of the model: ids, country codes, CIDRs, regexes, host globs,
account matchers and logon types.

Every type validates *and* normalises (lower-cased domains, canonical CIDRs, upper-cased SIDs) so that
the Python matchers and the SQL tables see the same values.
"""

from __future__ import annotations

import ipaddress
import string
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, StrictInt, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from sekimori.model.regex import compile_regex

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
DOMAIN_PATTERN = r"^[^\s\\@]+$"
UPN_SUFFIX_PATTERN = r"^@?[^\s\\@]+$"
SID_PREFIX_PATTERN = r"^[Ss]-1(-[0-9]+)+$"
HOST_GLOB_PATTERN = r"^[^\s/\\@]+$"

# What a value that fails one of the patterns above should have looked like (for error messages).
PATTERN_EXPLANATIONS: dict[str, str] = {
    ID_PATTERN: "an id made of letters, digits, '.', '_' or '-', starting with a letter or digit",
    COUNTRY_PATTERN: "a two-letter upper-case ISO 3166-1 country code such as JP or KR",
    DOMAIN_PATTERN: "a NetBIOS or DNS domain name such as CORP or corp.example.jp (no spaces, '\\' or '@')",
    UPN_SUFFIX_PATTERN: "a UPN suffix such as @aff.example.jp",
    SID_PREFIX_PATTERN: "a SID prefix such as S-1-5-21-111-222-333",
    HOST_GLOB_PATTERN: "a host name, FQDN or glob such as db-*.corp.example.jp (no spaces, '/', '\\' or '@')",
}

# Officially assigned ISO 3166-1 alpha-2 codes (the list in tzdata's iso3166.tab).
_ISO_3166_ALPHA2_TEXT = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_ALPHA2 = frozenset(_ISO_3166_ALPHA2_TEXT.split())

# Windows logon types (event 4624 LogonType) by the name used in the model.
LOGON_TYPE_CODES: dict[str, int] = {
    "interactive": 2,
    "network": 3,
    "batch": 4,
    "service": 5,
    "unlock": 7,
    "network_cleartext": 8,
    "new_credentials": 9,
    "remote_interactive": 10,
    "cached_interactive": 11,
    "cached_remote_interactive": 12,
    "cached_unlock": 13,
}
LOGON_TYPE_NAMES: dict[int, str] = {code: name for name, code in LOGON_TYPE_CODES.items()}

# --- case ----

# Case is folded for ASCII letters only, in Python and in SQL alike: Python and DuckDB map some other
# letters differently ('İ'.lower() is two characters in Python, one in DuckDB).
_TO_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_TO_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def ascii_lower(text: str) -> str:
    return text.translate(_TO_LOWER)


def ascii_upper(text: str) -> str:
    return text.translate(_TO_UPPER)


# --- regexes ----


def _check_regex(pattern: str) -> str:
    compile_regex(pattern)
    return pattern


# --- networks ----


def parse_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR as written in the model (a bare address means a single host)."""
    if "%" in value:  # scoped (link-local) networks cannot be compared with addresses from logs
        raise ValueError(f"expected a network in CIDR notation without a %zone, got {value!r}")
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                f"expected a network in CIDR notation such as 10.20.0.0/16 or fd00:20::/48, got {value!r}"
            ) from exc
        raise ValueError(
            f"expected a network address, got {value!r} which has host bits set: did you mean {loose}?"
        ) from exc


def _normalise_cidr(value: str) -> str:
    return str(parse_network(value))


# --- other normalisers ----


def _check_country(code: str) -> str:
    if code not in ISO_3166_ALPHA2:
        raise ValueError(f"expected an ISO 3166-1 alpha-2 country code such as JP or KR, got {code!r}")
    return code


def _normalise_upn_suffix(suffix: str) -> str:
    return ascii_lower("@" + suffix if not suffix.startswith("@") else suffix)


def _one_or_many(value: Any) -> Any:
    """Let a list field be written as a single value."""
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _logon_type_from_code(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in LOGON_TYPE_NAMES:
            codes = ", ".join(str(code) for code in sorted(LOGON_TYPE_NAMES))
            raise ValueError(
                f"expected a logon type name or a Windows logon type number ({codes}), got {value}"
            )
        return LOGON_TYPE_NAMES[value]
    return value


def _ports_any(value: Any) -> Any:
    if value is None:
        raise ValueError("expected a list of ports or 'any', got null")
    if isinstance(value, str) and value.strip().lower() == "any":
        return None
    return _one_or_many(value)


class OneOrManyJsonSchema:
    """JSON Schema for a list field that also accepts a single item."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        array = handler.resolve_ref_schema(handler(core_schema))
        return {"anyOf": [array.get("items", {}), array]}


# --- the annotated types ----

Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=100)]
Text = Annotated[str, Field(min_length=1)]
Country = Annotated[str, Field(pattern=COUNTRY_PATTERN), AfterValidator(_check_country)]
Cidr = Annotated[str, AfterValidator(_normalise_cidr)]
Regex = Annotated[str, Field(min_length=1), AfterValidator(_check_regex)]
HostGlob = Annotated[str, Field(pattern=HOST_GLOB_PATTERN)]
Domain = Annotated[str, Field(pattern=DOMAIN_PATTERN), AfterValidator(ascii_lower)]
UpnSuffix = Annotated[str, Field(pattern=UPN_SUFFIX_PATTERN), AfterValidator(_normalise_upn_suffix)]
SidPrefix = Annotated[str, Field(pattern=SID_PREFIX_PATTERN), AfterValidator(ascii_upper)]
Count = Annotated[StrictInt, Field(ge=0)]
Port = Annotated[StrictInt, Field(ge=1, le=65535)]

LogonTypeName = Literal[
    "interactive",
    "network",
    "batch",
    "service",
    "unlock",
    "network_cleartext",
    "new_credentials",
    "remote_interactive",
    "cached_interactive",
    "cached_remote_interactive",
    "cached_unlock",
]
LogonType = Annotated[
    LogonTypeName,
    BeforeValidator(_logon_type_from_code),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": list(LOGON_TYPE_CODES)},
                {"type": "integer", "enum": sorted(LOGON_TYPE_NAMES)},
            ]
        }
    ),
]

# None means "any port".
Ports = Annotated[
    Annotated[list[Port], Field(min_length=1)] | None,
    BeforeValidator(_ports_any),
    WithJsonSchema(
        {
            "anyOf": [
                {"const": "any"},
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "minItems": 1,
                },
            ]
        }
    ),
]

# Lists that may also be written as a single item.
CidrList = Annotated[list[Cidr], BeforeValidator(_one_or_many), Field(min_length=1), OneOrManyJsonSchema()]
DomainList = Annotated[
    list[Domain], BeforeValidator(_one_or_many), Field(min_length=1), OneOrManyJsonSchema()
]
UpnSuffixList = Annotated[
    list[UpnSuffix], BeforeValidator(_one_or_many), Field(min_length=1), OneOrManyJsonSchema()
]
ZoneCidrs = Annotated[list[Cidr], BeforeValidator(_one_or_many), OneOrManyJsonSchema()]
# How identity-provider and cloud logs name a tenant: an Entra tenant id (GUID), an Okta org
# (acme.okta.com), a Google Workspace customer id (C01abc2de), an AWS account id (12 digits). Compared
# case-insensitively (GUIDs are written in either case).
TenantId = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"),
    AfterValidator(ascii_lower),
]
TenantIdList = Annotated[list[TenantId], BeforeValidator(_one_or_many), OneOrManyJsonSchema()]


# An application as sign-in and cloud logs name it: display name or id (Entra appDisplayName / appId,
# Okta app instance, AWS eventSource such as s3.amazonaws.com); compared case-insensitively.
def _application_key(value: str) -> str:
    return value.strip().casefold()


ApplicationName = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_application_key)]
ApplicationList = Annotated[list[ApplicationName], BeforeValidator(_one_or_many), OneOrManyJsonSchema()]
SidPrefixList = Annotated[
    list[SidPrefix], BeforeValidator(_one_or_many), Field(min_length=1), OneOrManyJsonSchema()
]
