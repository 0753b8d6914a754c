"""Who may see or change which booking, order, invoice, certificate, person or register.

One rule book for every page: a view that shows one object asks here, and answers 404 when
the answer is no, so nobody learns that someone else's booking exists. The services ask here
too (``booking_create`` refuses a way of paying its booker may not use), so a rule cannot be
side-stepped by calling the service from somewhere other than the page.

The people in these rules:

- a **training administrator** sees and changes everything;
- an **agency booker** (a ``training.BookerGrant`` for one agency, held while a verified member
  of it: never the agency a profile merely names) sees and changes every booking, order,
  invoice and certificate of that agency (the agency recorded on the booking), and its
  verified people;
- the **attendee** sees their own place and its certificate (also before the place is linked
  to their account, when it was booked for their verified address);
- whoever **booked** an order sees it and its places;
- a **trainer** opens the registers of the sessions they teach, and adds someone who came.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from bookings.models import (
    Attendance,
    Booking,
    BookingStatus,
    Invoice,
    Order,
    PaymentMethod,
)
from training.auth import profile_of
from training.membership import booker_agency_ids, verified_agency_id
from training.models import Agency, CourseKind, Session, SessionStatus, Trainer
from training.roles import Role, can_see_person, has_role

__all__ = [
    "agency_of",
    "booker_agency",
    "booking_for_or_404",
    "can_add_walk_in",
    "can_approve_membership",
    "can_book_on_behalf",
    "can_download_certificate",
    "can_download_session_certificates",
    "can_edit_access_needs",
    "can_message_session",
    "can_see_access_needs",
    "can_see_joining_link",
    "can_grant_booker",
    "can_manage_sessions",
    "can_name_reserved_place",
    "can_pay_order",
    "can_record_session_messages",
    "can_reserve_places",
    "can_see_booking",
    "can_see_in_kind_ledger",
    "can_see_invoice",
    "can_see_order",
    "can_see_person",
    "can_see_session",
    "can_see_training_record",
    "certificate_booking_for_or_404",
    "front_desk_payment_methods",
    "invoice_for_or_404",
    "is_admin",
    "is_booker_for",
    "is_session_trainer",
    "is_verified_member",
    "manage_sessions_or_404",
    "order_for_or_404",
    "payment_methods_allowed",
    "register_session_or_404",
    "register_sessions",
    "verified_email",
]


# --- who the viewer is ------------------------------------------------------------------------


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def agency_of(user: Any) -> Agency | None:
    """The agency the person says they work for (verified or not), recorded on their places.

    It decides nothing on its own: the price and the agency's data follow only a verified
    membership (``is_verified_member``) and a booker grant (``is_booker_for``).
    """
    profile = profile_of(user)
    return profile.agency if profile else None


def is_verified_member(user: Any, agency_id: int | None) -> bool:
    return agency_id is not None and verified_agency_id(user) == agency_id


def booker_agency(user: Any) -> Agency | None:
    """The agency ``user`` books for by grant, or None."""
    ids = booker_agency_ids(user)
    agency = agency_of(user)
    return agency if agency is not None and agency.pk in ids else None


def is_admin(user: Any) -> bool:
    return has_role(user, Role.TRAINING_ADMINISTRATOR)


def is_booker_for(user: Any, agency_id: int | None) -> bool:
    """A booker of the agency by grant (see ``training.membership.booker_agency_ids``)."""
    return agency_id is not None and agency_id in booker_agency_ids(user)


def can_approve_membership(user: Any, agency_id: int | None) -> bool:
    """A request to join an agency is approved by its bookers or the training team."""
    return is_admin(user) or is_booker_for(user, agency_id)


def can_grant_booker(user: Any, agency_id: int | None) -> bool:
    """Booker rights for an agency are given and taken by its bookers or the training team."""
    return is_admin(user) or is_booker_for(user, agency_id)


def verified_email(user: Any) -> str:
    """The user's address in lower case if they have proved they own it, else ''."""
    cached = getattr(user, "_verified_email", None)
    if cached is None:
        email = (getattr(user, "email", "") or "").lower()
        verified = EmailAddress.objects.filter(user=user, email__iexact=email, verified=True)
        cached = email if email and verified.exists() else ""
        user._verified_email = cached  # asked once per row of a training record
    return cached


def _is_attendee(user: Any, booking: Booking) -> bool:
    if booking.attendee_id is not None:
        return bool(booking.attendee_id == user.pk)
    # Booked for their address (by a booker, or imported), not yet linked to their account.
    email = verified_email(user)
    return bool(email) and booking.attendee_email == email


# --- places, orders, invoices, certificates ------------------------------------------------


def can_see_booking(user: Any, booking: Booking) -> bool:
    """The attendee, whoever booked it, a booker of the booking's agency, or an administrator.

    Seeing a place is also changing it (cancel, transfer) and having its documents (calendar
    entry, certificate): one rule for all of them.
    """
    if not _signed_in(user):
        return False
    return (
        is_admin(user)
        or _is_attendee(user, booking)
        or booking.order.booked_by_id == user.pk
        or is_booker_for(user, booking.agency_id)
    )


def is_session_trainer(user: Any, session: Session) -> bool:
    """``user`` is a trainer of ``session`` (their login is linked to one of its trainers)."""
    return _signed_in(user) and session.trainers.filter(user_id=user.pk).exists()


def can_see_access_needs(user: Any, booking: Booking) -> bool:
    """A place's access and dietary needs: the attendee who gave them, the administrators and
    the session's trainers; never a booker or anyone else."""
    if not _signed_in(user):
        return False
    return (
        is_admin(user) or _is_attendee(user, booking) or is_session_trainer(user, booking.session)
    )


def can_edit_access_needs(user: Any, booking: Booking) -> bool:
    """The attendee says their own needs (the administrator may write down what they were told)."""
    return (
        _signed_in(user) and booking.is_active and (is_admin(user) or _is_attendee(user, booking))
    )


def can_see_joining_link(user: Any, booking: Booking) -> bool:
    """An online session's joining link: the attendee of a confirmed place (and the
    administrators); not the booker, who is not the one joining."""
    return (
        _signed_in(user)
        and booking.status == BookingStatus.CONFIRMED
        and (is_admin(user) or _is_attendee(user, booking))
    )


def can_message_session(user: Any, session: Session) -> bool:
    """Write to everyone on a session: the administrators (trainers ask the training team)."""
    return is_admin(user)


def can_download_certificate(user: Any, booking: Booking) -> bool:
    """Whoever may open the booking may download its certificate, once the place is attended."""
    return (
        booking.status == BookingStatus.CONFIRMED
        and booking.attendance == Attendance.ATTENDED
        and can_see_booking(user, booking)
    )


def can_see_order(user: Any, order: Order) -> bool:
    if not _signed_in(user):
        return False
    return (
        is_admin(user)
        or order.booked_by_id == user.pk
        or is_booker_for(user, order.agency_id)
        or order.bookings.filter(attendee_id=user.pk).exists()
    )


def can_pay_order(user: Any, order: Order) -> bool:
    """Only the person who booked pays for the held places (the checkout is in their name)."""
    return _signed_in(user) and order.booked_by_id == user.pk


def can_see_invoice(user: Any, invoice: Invoice) -> bool:
    """An invoice is the agency's: its bookers, whoever booked the order, administrators."""
    if not _signed_in(user):
        return False
    return (
        is_admin(user)
        or (invoice.order is not None and invoice.order.booked_by_id == user.pk)
        or is_booker_for(user, invoice.agency_id)
    )


def can_see_in_kind_ledger(user: Any) -> bool:
    """The in-kind ledger: administrators see every partner, an agency's bookers (by grant)
    see their own agency's row only (``evaluation.ledger``); nobody else opens it."""
    return _signed_in(user) and (is_admin(user) or bool(booker_agency_ids(user)))


def booking_for_or_404(user: Any, pk: int) -> Booking:
    booking = get_object_or_404(
        Booking.objects.select_related(
            "session__course", "session__venue", "order__booked_by", "agency", "attendee"
        ),
        pk=pk,
    )
    if not can_see_booking(user, booking):
        # 404, not 403: do not confirm that someone else's booking exists.
        raise Http404("No such booking.")
    return booking


def certificate_booking_for_or_404(user: Any, pk: int) -> Booking:
    """The attended place whose certificate ``user`` may download, or 404."""
    booking = get_object_or_404(
        Booking.objects.filter(status=BookingStatus.CONFIRMED, attendance=Attendance.ATTENDED)
        .select_related("session__course", "session__venue", "agency", "order")
        .prefetch_related("session__parts", "session__course__outcomes"),
        pk=pk,
    )
    if not can_download_certificate(user, booking):
        raise Http404("No such certificate.")
    return booking


def order_for_or_404(user: Any, reference: str) -> Order:
    order = get_object_or_404(
        Order.objects.select_related("agency", "booked_by"), reference=reference
    )
    if not can_see_order(user, order):
        raise Http404("No such order.")
    return order


def invoice_for_or_404(user: Any, number: str) -> Invoice:
    invoice = get_object_or_404(Invoice.objects.select_related("order", "agency"), number=number)
    if not can_see_invoice(user, invoice):
        raise Http404("No such invoice.")
    return invoice


# --- how a booker may pay -----------------------------------------------------------------


def payment_methods_allowed(user: Any, agency: Agency) -> frozenset[str]:
    """The ways ``user`` may pay when booking places for ``agency``.

    Anyone may pay by card, and a free session is free for everyone. Invoicing the agency and
    drawing on its subsidised places spend the agency's money, so they are for the agency's
    bookers and the training administrators (and the unit itself: ``user`` None, e.g. an
    import). Whether the agency is approved for invoices, or has subsidised places left, is
    the booking service's question, not this one.
    """
    methods = {PaymentMethod.CARD, PaymentMethod.FREE}
    if user is None or is_admin(user) or is_booker_for(user, agency.pk):
        methods |= {PaymentMethod.INVOICE, PaymentMethod.SUBSIDISED}
    return frozenset(methods)


# --- people -------------------------------------------------------------------------------

# ``can_see_person`` (themselves, a booker of their agency, administrators) is training's,
# because the person page is training's and training imports nothing from bookings; it is
# imported above so that this module still answers every question.


def can_see_training_record(viewer: Any, person: Any) -> bool:
    """A training record is for whoever may see the person."""
    return can_see_person(viewer, person)


# --- sessions and registers ---------------------------------------------------------------


def can_manage_sessions(user: Any) -> bool:
    """Every register, the attendance export, reopening registers and waiving charges."""
    return is_admin(user)


def can_see_session(user: Any, session: Session) -> bool:
    """Published sessions are public; drafts and cancelled ones are for administrators."""
    return can_see_session_of_status(user, session.status)


def can_see_session_of_status(user: Any, status: str) -> bool:
    """``can_see_session`` for a page that reads the session's status alone."""
    return status == SessionStatus.PUBLISHED or can_manage_sessions(user)


def register_sessions(user: Any) -> QuerySet[Session] | None:
    """The sessions whose registers ``user`` may open, or None when they may open none."""
    if not _signed_in(user):
        return None
    if can_manage_sessions(user):
        return Session.objects.all()
    trainer = Trainer.objects.filter(user=user).first()
    if trainer is None:
        return None
    return Session.objects.filter(trainers=trainer)


def register_session_or_404(user: Any, pk: int) -> Session:
    """A session whose register ``user`` may open (never a draft), or 404."""
    sessions = register_sessions(user)
    if sessions is None:
        raise Http404("No such register.")
    return get_object_or_404(
        sessions.exclude(status=SessionStatus.DRAFT)
        .select_related("course", "venue")
        .prefetch_related("parts", "trainers"),
        pk=pk,
    )


def manage_sessions_or_404(user: Any) -> None:
    """Refuse (404) a page that only administrators may know exists."""
    if not can_manage_sessions(user):
        raise Http404("Not found.")


# --- the front desk: booking on someone's behalf ----------------------------------------


def can_reserve_places(user: Any, agency: Agency) -> bool:
    """Reserve unnamed places for ``agency`` (invoiced to it): its bookers and the
    administrators; a booker of another agency is refused."""
    return _signed_in(user) and (is_admin(user) or is_booker_for(user, agency.pk))


def can_name_reserved_place(user: Any, booking: Booking) -> bool:
    """Name someone for one of an agency's reserved places: as ``can_reserve_places``."""
    return _signed_in(user) and (is_admin(user) or is_booker_for(user, booking.agency_id))


def can_book_on_behalf(user: Any) -> bool:
    """Book any person of any agency (phone, email, walk-ins), waive the charge with a reason,
    and go beyond a full session's capacity with a reason: the training administrators."""
    return is_admin(user)


def can_add_walk_in(user: Any, session: Session) -> bool:
    """ "Add someone who came" on a session's register: the administrators, and the session's
    own trainers (they are in the room); a trainer of another session is refused."""
    if not _signed_in(user):
        return False
    return is_admin(user) or session.trainers.filter(user_id=user.pk).exists()


def can_record_session_messages(user: Any, session: Session) -> bool:
    """The "Practitioners told us" messages of a MAPIG session or conference: recorded,
    changed and deleted by the administrators and the session's own trainers."""
    if session.course.kind not in (CourseKind.MAPIG, CourseKind.CONFERENCE):
        return False
    if not _signed_in(user):
        return False
    return is_admin(user) or session.trainers.filter(user_id=user.pk).exists()


def front_desk_payment_methods(
    user: Any, agency: Agency, *, walk_in_session: Session | None = None
) -> frozenset[str]:
    """The ways of paying ``user`` may choose when booking someone at the front desk: those of
    ``payment_methods_allowed``, and "no charge" (with a reason) for the administrators.

    A session's trainer adding someone who came (``walk_in_session``) invoices their agency
    the course's price; waiving it is the administrators' decision.
    """
    methods = set(payment_methods_allowed(user, agency))
    if can_book_on_behalf(user):
        methods.add(PaymentMethod.NO_CHARGE)
    elif walk_in_session is not None and can_add_walk_in(user, walk_in_session):
        methods.add(PaymentMethod.INVOICE)
    return frozenset(methods)


def can_download_session_certificates(user: Any) -> bool:
    """All of a session's certificates in one PDF: the administrators."""
    return can_manage_sessions(user)
