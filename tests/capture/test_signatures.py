import pytest

from bench.signatures import load_cases, mismatches
from salesdesk.capture.message import Address
from salesdesk.capture.signatures import Signature, country_from_domain, extract_signature

ANNA = Address(email="anna.schmidt@lindner-consulting.de", name="Anna Schmidt")

# Cases of the labelled set that the extractor gets wrong, each with what goes wrong. The
# "holdout-" cases were written after the extractor was tuned on the others.
KNOWN_FAILURES = {
    "holdout-cz-s-pozdravem": "Czech title words (ředitel) are not in the title vocabulary",
    "holdout-tr-saygilarimla": "Turkish title words (Müdürü) are not in the title vocabulary",
}


def _labelled_cases():
    for case in load_cases():
        marks = []
        if case.name in KNOWN_FAILURES:
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case.name])]
        yield pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", list(_labelled_cases()))
def test_labelled_signature(case):
    assert mismatches(case, case.extract()) == []


def test_labelled_set_is_large_and_varied():
    cases = load_cases()
    assert len(cases) >= 60
    assert set(KNOWN_FAILURES) <= {case.name for case in cases}
    languages = {case.name.split("-")[0] for case in cases}
    assert {"en", "de", "fr", "es", "nl", "it", "pl", "sv", "pt", "da", "no", "fi"} <= languages


def _message(signature: str, body: str = "Hallo Herr Roth,\n\nanbei die Unterlagen.\n") -> str:
    return f"{body}\n{signature}\n"


def test_body_numbers_are_never_phones():
    text = (
        "Hallo Herr Roth,\n\n"
        "Bestellung 4711-2023-0098 vom 12.03.2025, Lieferung nach 70565 Stuttgart.\n"
        "Zahlung auf IBAN DE89 3704 0044 0532 0130 00, Hotline 0800 1234567.\n\n"
        "Viele Grüße\nAnna Schmidt\nTel. 069 12345678\n"
    )

    signature = extract_signature(text, sender=ANNA, country_hint="DE")

    assert signature.phones == ["+496912345678"]


def test_register_tax_and_bank_lines_in_the_signature_are_skipped():
    text = _message(
        "Mit freundlichen Grüßen\nAnna Schmidt\nLindner Consulting GmbH\n"
        "Amtsgericht Frankfurt HRB 123456\nUSt-IdNr. DE 123456789\n"
        "IBAN DE89 3704 0044 0532 0130 00\nKundennummer: 0711 1234567\n"
    )

    assert extract_signature(text, sender=ANNA, country_hint="DE").phones == []


def test_unlabelled_number_with_other_text_is_skipped_but_a_bare_one_is_taken():
    text = _message("Gruß\nAnna Schmidt\nIhre Vorgangsnummer 069 12345678\n069 87654321\n")

    assert extract_signature(text, sender=ANNA, country_hint="DE").phones == ["+496987654321"]


def test_fax_is_left_out_and_mobile_is_labelled():
    text = _message("Gruß\nAnna Schmidt\nT +49 69 12345678 | F +49 69 12345679 | M 0171 2345678\n")

    signature = extract_signature(text, sender=ANNA, country_hint="DE")

    assert signature.phones == ["+496912345678", "+491712345678"]
    assert signature.mobile == "+491712345678"


def test_a_number_in_a_mobile_range_is_the_mobile_without_a_label():
    text = _message("Gruß\nAnna Schmidt\nTel. 0171 2345678\n")

    assert extract_signature(text, sender=ANNA, country_hint="DE").mobile == "+491712345678"


def test_without_a_country_hint_only_international_numbers_are_read():
    text = _message("Gruß\nAnna Schmidt\nTel. 069 12345678\nMobil +49 171 2345678\n")

    signature = extract_signature(text, sender=ANNA, country_hint=None)

    assert signature.phones == ["+491712345678"]


@pytest.mark.parametrize(
    "sign_off",
    [
        "Best regards,",
        "Kind regards",
        "Cheers,",
        "Thanks!",
        "Mit freundlichen Grüßen",
        "Viele Grüße",
        "Beste Grüße",
        "Freundliche Grüsse",
        "Cordialement,",
        "Bien à vous,",
        "Saludos,",
        "Un saludo,",
        "Met vriendelijke groet,",
        "Cordiali saluti,",
        "Pozdrawiam,",
        "Z poważaniem",
        "Med vänliga hälsningar",
        "Venlig hilsen",
        "Atenciosamente,",
        "Ystävällisin terveisin",
    ],
)
def test_each_sign_off_starts_the_signature(sign_off):
    # The name is not the sender's, so only the sign-off can mark where the signature starts.
    text = _message(f"{sign_off}\nA. S.\nHead of Sales\n+49 69 12345678\n")

    signature = extract_signature(text, sender=ANNA, country_hint="DE")

    assert signature.phones == ["+496912345678"]
    assert signature.block == "A. S.\nHead of Sales\n+49 69 12345678"


def test_a_phone_line_without_sign_off_or_name_is_no_signature():
    text = _message("Unsere Zentrale: +49 69 12345678\n")

    assert extract_signature(text, sender=ANNA, country_hint="DE") == Signature()


def test_dash_delimiter_starts_the_signature():
    text = _message("-- \nA. S.\nT +49 69 12345678\n")

    assert extract_signature(text, sender=ANNA, country_hint="DE").phones == ["+496912345678"]


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, Mar 4, 2025 at 9:12 AM Bob Other <bob@other.com> wrote:",
        "Am Mo., 3. März 2025 um 08:02 Uhr schrieb Bob Other <bob@other.com>:",
        "Le lun. 3 mars 2025 à 09:15, Bob Other <bob@other.com> a écrit :",
        "El lun, 3 mar 2025 a las 10:20, Bob Other (<bob@other.com>) escribió:",
        "Op ma 3 mrt 2025 om 09:41 schreef Bob Other <bob@other.com>:",
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
    ],
)
def test_quoted_history_and_its_signature_are_not_read(attribution):
    text = (
        "Danke, passt.\n\n"
        f"{attribution}\n"
        "Hi Anna,\nwhat about Friday?\n\nBest regards,\nBob Other\nSales Director\n"
        "Tel: +49 30 12345678\nwww.other.com\n"
    )

    assert extract_signature(text, sender=ANNA, country_hint="DE") == Signature()


def test_outlook_header_block_ends_the_message():
    text = (
        "Danke, passt.\n\nAnna Schmidt\nSenior Beraterin\n+49 69 12345678\n\n"
        "Von: Bob Other <bob@other.com>\nGesendet: Montag, 3. März 2025 08:30\n"
        "An: Anna Schmidt\nBetreff: Termin\n\nGruß\nBob Other\nTel. +49 30 12345678\n"
    )

    signature = extract_signature(text, sender=ANNA, country_hint="DE")

    assert signature.phones == ["+496912345678"]
    assert signature.title == "Senior Beraterin"


def test_phone_noise_and_disclaimer_are_outside_the_block():
    text = _message(
        "Gruß\nAnna Schmidt\n+49 69 12345678\n\nVon meinem iPhone gesendet\n"
        "Diese E-Mail ist vertraulich. Falls irrtümlich erhalten: +49 69 12345600\n"
    )

    signature = extract_signature(text, sender=ANNA, country_hint="DE")

    assert signature.phones == ["+496912345678"]
    assert signature.block == "Anna Schmidt\n+49 69 12345678"


def test_block_is_at_most_fifteen_lines():
    filler = "\n".join(f"Zeile {n}" for n in range(20))
    text = _message(f"Gruß\nAnna Schmidt\n{filler}\nTel. +49 69 12345678\n")

    signature = extract_signature(text, sender=ANNA, country_hint="DE")

    assert len(signature.block.split("\n")) == 15
    assert signature.phones == []


@pytest.mark.parametrize(
    ("signature_lines", "title"),
    [
        ("Anna Schmidt\nSenior Beraterin\nLindner Consulting GmbH", "Senior Beraterin"),
        ("Anna Schmidt | Head of Sales | Lindner Consulting", "Head of Sales"),
        ("Anna Schmidt, Head of Sales EMEA", "Head of Sales EMEA"),
        ("Anna Schmidt\nHead of Sales, DACH", "Head of Sales, DACH"),
        ("Anna Schmidt\nBeraterin bei Lindner Consulting", "Beraterin"),
        ("Anna Schmidt\nLindner Consulting GmbH\nHauptstr. 1", ""),
        ("Dr. Anna Schmidt\nPartnerin", "Partnerin"),
    ],
)
def test_title_follows_the_name(signature_lines, title):
    text = _message(f"Viele Grüße\n{signature_lines}\n")

    assert extract_signature(text, sender=ANNA).title == title


def test_website_prefers_the_sender_domain_and_skips_scheduling_and_social_links():
    text = _message(
        "Gruß\nAnna Schmidt\nhttps://calendly.com/anna/30min\n"
        "Partner: www.partner-firma.de | https://lindner-consulting.de/de/kontakt\n"
        "linkedin.com/in/anna-schmidt-42/?originalSubdomain=de | x.com/anna_s\n"
        "https://www.youtube.com/@lindner\n"
    )

    signature = extract_signature(text, sender=ANNA)

    assert signature.website == "https://lindner-consulting.de/"
    assert signature.linkedin == "https://www.linkedin.com/in/anna-schmidt-42"
    assert signature.twitter == "https://x.com/anna_s"
    assert signature.links == ["https://www.youtube.com/@lindner"]


def test_without_a_website_of_the_sender_domain_the_first_other_one_is_taken():
    text = _message("Gruß\nAnna Schmidt\nwww.lindner-gruppe.de | www.lindner-stiftung.org\n")

    assert extract_signature(text, sender=ANNA).website == "https://www.lindner-gruppe.de/"


def test_email_address_domain_is_not_a_website():
    text = _message("Gruß\nAnna Schmidt\nanna.schmidt@lindner-consulting.de\n")

    assert extract_signature(text, sender=ANNA).website == ""


def test_sender_without_name_is_found_by_the_address():
    sender = Address(email="anna.schmidt@lindner-consulting.de")
    text = _message("Anna Schmidt\nSenior Beraterin\n+49 69 12345678\n")

    signature = extract_signature(text, sender=sender, country_hint="DE")

    assert (signature.title, signature.phones) == ("Senior Beraterin", ["+496912345678"])


def test_message_without_signature_gives_empty_signature():
    assert extract_signature("ok\n", sender=ANNA, country_hint="DE") == Signature()
    assert extract_signature("", sender=ANNA) == Signature()


@pytest.mark.parametrize(
    ("domain", "country"),
    [
        ("acme.de", "DE"),
        ("ACME.FR.", "FR"),
        ("acme.co.uk", "GB"),
        ("shop.acme.com.au", "AU"),
        ("acme.com", None),
        ("acme.io", None),
        ("acme.co", None),
        ("acme.eu", None),
        ("acme.berlin", None),
    ],
)
def test_country_from_domain(domain, country):
    assert country_from_domain(domain) == country
