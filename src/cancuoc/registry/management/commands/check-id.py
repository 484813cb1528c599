"""`cancuoc check-id NUMBER...`: decode and validate personal ID numbers.

Prints one JSON object per number (stripped of surrounding whitespace), one per line,
in the order given:
``{"number", "valid", "errors", "warnings", "province_code", "province_name", "abroad",
"sex", "birth_year"}``. The decoded fields are null when the number is not 12 digits;
with an unknown prefix the province is null but sex and birth year are still shown.
Exits with status 1 if any number is invalid, 0 otherwise.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from cancuoc.registry.idnumber import decode, validate


class Command(BaseCommand):
    help = "Decode and validate 12-digit personal identification numbers (one JSON line each)."

    def add_arguments(self, parser):
        parser.add_argument("numbers", nargs="+", metavar="NUMBER", help="a 12-digit number")

    def handle(self, *args, **options):
        invalid = 0
        for number in options["numbers"]:
            issues = validate(number)
            errors = [i.code for i in issues if i.severity == "error"]
            warnings = [i.code for i in issues if i.severity == "warning"]
            decoded = None if "format" in errors else decode(number, require_known_prefix=False)
            row = {
                "number": number.strip(),
                "valid": not errors,
                "errors": errors,
                "warnings": warnings,
                "province_code": decoded.province_code if decoded else None,
                "province_name": decoded.province_name if decoded else None,
                "abroad": decoded.abroad if decoded else None,
                "sex": decoded.sex if decoded else None,
                "birth_year": decoded.birth_year if decoded else None,
            }
            self.stdout.write(json.dumps(row, ensure_ascii=False))
            invalid += bool(errors)
        if invalid:
            total = len(options["numbers"])
            raise CommandError(f"invalid: {invalid} of {total} number(s)", returncode=1)
