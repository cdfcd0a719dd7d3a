"""What a document must be before it is stored: its size, its type by content, a readable PDF.

The type is found in the bytes themselves (their magic numbers, and for DOCX and ODT the
zip's own parts), never in the file name or the type the browser sent: a file whose name
says ``.pdf`` but holds something else is refused like any other unknown type. Every
refusal comes before anything is stored, with a Dutch message a school can act on.
"""

from __future__ import annotations

import io
import zipfile

from pypdf import PdfReader

MAX_BYTES = 20 * 1024 * 1024  # 20 MB per document

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
JPEG = "image/jpeg"
PNG = "image/png"
ALLOWED = (PDF, DOCX, ODT, JPEG, PNG)
EXTENSIONS = {PDF: "pdf", DOCX: "docx", ODT: "odt", JPEG: "jpg", PNG: "png"}

TOO_LARGE = "Het bestand is groter dan 20 MB. Verklein het (of splits het) en probeer opnieuw."
EMPTY = "Het bestand is leeg. Kies het bestand opnieuw en probeer het nog eens."
UNSUPPORTED = (
    "Dit soort bestand kan niet worden bijgevoegd. Toegestaan zijn PDF, Word (DOCX), "
    "OpenDocument-tekst (ODT), JPEG en PNG; de inhoud van het bestand telt, niet de naam."
)
PDF_ENCRYPTED = (
    "De PDF is beveiligd met een wachtwoord of versleuteld. Sla hem op zonder beveiliging "
    "en voeg hem opnieuw toe."
)
PDF_DAMAGED = (
    "De PDF is beschadigd en kan niet worden gelezen. Maak of exporteer hem opnieuw en "
    "voeg hem dan toe."
)


class BadDocument(Exception):
    """The file can't be taken: ``status`` (413, 415, 422) and a Dutch ``message``."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason  # too_large, empty, unsupported_type, pdf_encrypted, pdf_damaged


def check_size(size: int) -> None:
    """413 over :data:`MAX_BYTES`; 422 for an empty file."""
    if size > MAX_BYTES:
        raise BadDocument(413, TOO_LARGE, "too_large")
    if size == 0:
        raise BadDocument(422, EMPTY, "empty")


def media_type_of(content: bytes) -> str | None:
    """The type the content is (one of :data:`ALLOWED`), or None for anything else."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"PK\x03\x04"):
        return _office_type(content)
    return None


def _office_type(content: bytes) -> str | None:
    """DOCX or ODT by the zip's own parts; any other zip (or a broken one) is neither."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == ODT.encode():
                return ODT
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError, EOFError):
        return None
    return None


def check_pdf(content: bytes) -> None:
    """422 for a PDF that is encrypted or can't be read (every page is opened)."""
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise BadDocument(422, PDF_ENCRYPTED, "pdf_encrypted")
        if len(reader.pages) == 0:
            raise BadDocument(422, PDF_DAMAGED, "pdf_damaged")
        for page in reader.pages:
            page.get_contents()
    except BadDocument:
        raise
    except Exception:
        # A damaged PDF makes pypdf raise many kinds of errors (and zlib's, struct's):
        # each is the same answer for the school, never a server error.
        raise BadDocument(422, PDF_DAMAGED, "pdf_damaged") from None


def checked(content: bytes) -> str:
    """The document's media type once size, type and (for a PDF) readability hold."""
    check_size(len(content))
    media_type = media_type_of(content)
    if media_type is None:
        raise BadDocument(415, UNSUPPORTED, "unsupported_type")
    if media_type == PDF:
        check_pdf(content)
    return media_type
