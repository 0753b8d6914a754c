"""Places on sessions and the money and messages around them.

An Order is what one person books in one go (one Checkout Session, one invoice); each Booking
in it is one named attendee at one session. Payments, refunds and invoices are rows of their
own with a status; what is owed is computed from them. The models live in one module per
sub-domain and are all importable from here; the app label stays ``bookings``.
"""

from bookings.models.approvals import Approval, ApprovalStage, ApprovalStatus
from bookings.models.attendance import (
    NonAttendanceCharge,
    NonAttendancePolicy,
    Register,
    SessionLength,
)
from bookings.models.money import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from bookings.models.places import (
    ACTIVE_STATUSES,
    HOLDING_STATUSES,
    PLACE_STATUSES,
    ZERO,
    Attendance,
    Booking,
    BookingQuerySet,
    BookingStatus,
    Order,
    PaymentMethod,
    WaitingListEntry,
    WaitlistStatus,
    new_certificate_code,
    new_reference,
    new_token,
    open_offers_q,
    places_taken_q,
)
from bookings.models.records import (
    AuditEntry,
    OutgoingEmail,
)
from bookings.models.reservations import PlaceReservation, ReservationSettled

__all__ = [
    "ACTIVE_STATUSES",
    "HOLDING_STATUSES",
    "PLACE_STATUSES",
    "Approval",
    "ApprovalStage",
    "ApprovalStatus",
    "Attendance",
    "AuditEntry",
    "Booking",
    "BookingQuerySet",
    "BookingStatus",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceNumberSequence",
    "InvoiceStatus",
    "NonAttendanceCharge",
    "NonAttendancePolicy",
    "Order",
    "OutgoingEmail",
    "Payment",
    "PlaceReservation",
    "PaymentMethod",
    "PaymentStatus",
    "Refund",
    "RefundStatus",
    "Register",
    "ReservationSettled",
    "SessionLength",
    "WaitingListEntry",
    "WaitlistStatus",
    "WebhookEvent",
    "ZERO",
    "new_certificate_code",
    "new_reference",
    "new_token",
    "open_offers_q",
    "places_taken_q",
]
