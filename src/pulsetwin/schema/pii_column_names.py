"""What a column's NAME says it holds: the PII guard's rules over column names.

A name such as ``bsn``, ``voornaam``, ``geboortedatum``, ``email``, ``telefoon``, ``kenteken``, ``adres`` or
``foto`` marks a column as person-level data, however harmless its values look (see
:mod:`pulsetwin.schema.pii`).
"""

from __future__ import annotations

import re
from typing import Final


def word_list(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of a word list."""
    return tuple(text.split())


_ROLE: Final = (
    r"(?:melder|verdachte|dader|slachtoffer|aangever|klant|client|patient|bewoner|eigenaar|owner|contact|user"
    r"|gebruiker|person|persoon|victim|suspect|offender|reporter|customer)"
)
_NAME_RULES: Final[tuple[tuple[str, str, str], ...]] = (
    # (kind, regex over the compact lowercase name without separators, regex over single tokens)
    (
        "a BSN (citizen service number)",
        r"bsn|burgerservicenummer|sofinummer|socialsecuritynumber|ssn"
        r"|citizenservicenumber|persoonsnummer|anummer",
        r"bsn|ssn|sofi|burgerservicenummer|sofinummer",
    ),
    (
        "a person's name",
        r"voornamen?|achternamen?|roepnaam|geslachtsnaam|meisjesnaam|tussenvoegsel|initialen"
        r"|firstname|lastname|surname|forename|givenname|familyname|fullname|middlename|maidenname|personname"
        rf"|persoonsnaam|{_ROLE}s?(?:naam|name)|(?:naam|name){_ROLE}s?",
        r"voornaam|voornamen|achternaam|achternamen|roepnaam|tussenvoegsel|initialen|surname|firstname|lastname"
        r"|forename|fullname",
    ),
    (
        "a birth date",
        r"geboortedatum|geboortedag|geboortejaar|geboorteplaats|gebdatum|geboren|dob|dateofbirth"
        r"|birthdate|birthday|birthyear|birthplace|bornon",
        r"dob|geboortedatum|geboren|birthdate|birthday",
    ),
    ("an e-mail address", r"e?mail|emailadres|emailaddress|mailadres|mailaddress", r"email|emailadres"),
    (
        "a phone number",
        r"telefoon|telefoonnummer|telnr|telephone|phone|phonenumber|mobiel|mobielnummer|mobile"
        r"|mobilenumber|gsm|cellphone|tel",
        r"telefoon|telefoonnummer|telnr|phone|mobiel|gsm|tel",
    ),
    (
        "a licence plate",
        r"kenteken|kentekens|kentekennummer|nummerplaat|licenseplate|licenceplate|numberplate"
        r"|registrationplate|platenumber",
        r"kenteken|kentekens|nummerplaat",
    ),
    (
        "a street address",
        r"adres|adressen|address|addresses|woonadres|straat|straatnaam|street|streetname"
        r"|huisnummer|huisnr|huisletter|housenumber|postcode6|pc6|postcode_6|postcodehuisnummer",
        r"adres|address|straat|street|huisnummer|huisnr|huisletter|postcode6|pc6",
    ),
    (
        "an image, audio, video or biometric payload",
        r"foto|fotos|photo|photos|image|images|img|picture"
        r"|pictures|face|faces|gezicht|gezichten|vingerafdruk|vingerafdrukken|fingerprint|fingerprints|biometric"
        r"|biometrics|biometrie|biometrisch|embedding|embeddings|faceembedding|audio|video|voice|stemopname"
        r"|iris|irisscan|selfie|portrait|portret|handtekening|afbeelding|afbeeldingen",
        r"foto|fotos|photo|photos|image|images|img|picture|face|faces|gezicht|vingerafdruk|fingerprint"
        r"|biometric|biometrics|biometrie|embedding|embeddings|audio|video|voice|selfie|portret|portrait",
    ),
    (
        "a person identifier",
        r"(?:person|persoon|patient|client|klant|burger|verdachte|dader|slachtoffer)s?"
        r"(?:id|nr|nummer|number)",
        r"(?:person|persoon|patient|burger)(?:id|nr|nummer)",
    ),
)
PERSON_TOKENS: Final = frozenset(
    word_list(
        "persoon personen person persons people verdachte verdachten dader daders slachtoffer slachtoffers"
        " melder"
        " melders aangever aangevers bewoner bewoners client clients cliënt klant klanten patient patienten"
        " patiënt burger burgers victim victims suspect suspects offender offenders reporter"
        " resident residents"
        " customer customers user users gebruiker medewerker employee member child"
    )
)


def column_tokens(column: str) -> list[str]:
    """Split a column name into lowercase tokens at case changes, separators and digits."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", column)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    return [t for t in re.split(r"[^a-z]+", spaced.lower()) if t]


def name_finding(column: str) -> str | None:
    """What a column NAME says it holds (e.g. "a person's name"), or None when the name looks harmless.

    The whole name (lowercase, separators removed, digits stripped) or one of its tokens must match a rule
    exactly, so ``Gemeentenaam_1`` (a place) and ``Omgevingsadressendichtheid`` (a density) pass.
    """
    tokens = column_tokens(str(column))
    compacts = ("".join(tokens), re.sub(r"[^a-z0-9]", "", str(column).lower()))
    for kind, whole, token in _NAME_RULES:
        if any(re.fullmatch(whole, c) for c in compacts) or any(re.fullmatch(token, t) for t in tokens):
            return kind
    return None
