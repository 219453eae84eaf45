"""Sign-off and certificates in the API.

Signing and revoking take the caller's password in the request body (a
fresh login, as on the pages). Verifying a certificate and downloading its
file need no authentication: by number alone the verification says only
whether it is in force; with its verification token (``?token=``, in the
certificate's link) also what it states, and the file. Nothing here edits or
deletes a sign-off or a certificate: there are no such endpoints.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.certification import certificates as certification
from audits.certification import public as certificate_public
from audits.certification import rules as certification_rules
from audits.certification import signoffs
from audits.certification.forms import password_reentry_matches
from audits.models import Certificate, SignOff, SignOffDecision
from synthgov.accounts.permissions import DATASET_VIEW, get_object_for_user
from synthgov.api_fields import ChoiceField, ModelSerializer
from synthgov.api_schema import error_response
from synthgov.downloads import as_attachment


class SignOffSerializer(ModelSerializer):
    user = serializers.CharField(source="user.get_username")
    organisation = serializers.CharField(source="organisation.slug")
    applies = serializers.BooleanField(
        help_text="False once newer evidence replaced the evaluation."
    )
    certificate = serializers.SerializerMethodField()

    class Meta:
        model = SignOff
        fields = [
            "id",
            "evaluation",
            "role",
            "decision",
            "comment",
            "user",
            "organisation",
            "evidence_sha256",
            "applies",
            "created",
            "certificate",
        ]

    def get_certificate(self, signoff: SignOff) -> str | None:
        certificate = getattr(signoff, "certificate", None)
        return certificate.number if certificate else None


class SignOffStateSerializer(serializers.Serializer):
    evaluation = serializers.IntegerField(source="evaluation.pk")
    evidence_sha256 = serializers.CharField(source="evaluation.evidence_sha256")
    stage = serializers.CharField(help_text="producer, regulator, certified, closed or superseded.")
    signoffs = SignOffSerializer(many=True)


class SignOffRequestSerializer(serializers.Serializer):
    decision = ChoiceField(choices=SignOffDecision.choices)
    comment = serializers.CharField(max_length=certification_rules.COMMENT_MAX_LENGTH)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, help_text="Your password: a fresh login."
    )


class RevokeRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    password = serializers.CharField(write_only=True, trim_whitespace=False)


class CertificateSerializer(ModelSerializer):
    dataset = serializers.CharField(source="dataset_version.dataset.name")
    dataset_version_sha256 = serializers.CharField(source="dataset_version.sha256")
    standard = serializers.CharField(source="standard_version.label")
    issuer_organisation = serializers.CharField(source="issuer_organisation.name")
    status = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "number",
            "status",
            "status_reason",
            "status_changed",
            "dataset",
            "dataset_version",
            "dataset_version_sha256",
            "standard",
            "evaluation",
            "evidence_sha256",
            "issued",
            "expires",
            "issuer_organisation",
            "kid",
            "verify_url",
        ]

    def get_status(self, certificate: Certificate) -> str:
        return certificate.effective_status()

    def get_verify_url(self, certificate: Certificate) -> str:
        """With the verification token for the holder's and the issuer's members."""
        if "sharing" not in self.context:
            request = self.context.get("request")
            user = request.user if request is not None else None
            self.context["sharing"] = certificate_public.certificate_sharing_organisations(user)
        return certificate_public.certificate_link(certificate, self.context["sharing"])


class VerificationSerializer(serializers.Serializer):
    number = serializers.CharField(source="certificate.number")
    status = serializers.CharField(
        help_text="valid, expired, revoked or suspended; invalid when the signature does not "
        "verify, unchecked when it cannot be checked now. Never valid unless it verifies."
    )
    disclosed = serializers.BooleanField(
        help_text="True when the verification token was given and matches: the fields below "
        "are filled in. By number alone only the status is shown."
    )
    detail = serializers.CharField(help_text="What to do to see more, or empty.")
    status_reason = serializers.CharField(help_text="Why it is not in force (disclosed only).")
    status_changed = serializers.SerializerMethodField()
    signature_valid = serializers.BooleanField(source="check.signature_valid", allow_null=True)
    signature_reason = serializers.SerializerMethodField()
    kid = serializers.SerializerMethodField()
    certifies = serializers.SerializerMethodField(
        help_text="The signed statement (disclosed only, else null)."
    )

    def get_status_changed(self, verification: Any) -> str | None:
        changed = verification.certificate.status_changed
        if not verification.disclosed or changed is None:
            return None
        return serializers.DateTimeField().to_representation(changed)

    def get_signature_reason(self, verification: Any) -> str:
        return verification.check.signature_reason if verification.disclosed else ""

    def get_kid(self, verification: Any) -> str | None:
        return verification.certificate.kid if verification.disclosed else None

    def get_certifies(self, verification: Any) -> dict[str, Any] | None:
        return verification.check.payload if verification.disclosed else None


# Wrong password re-entries count like wrong sign-ins (django-axes).
PASSWORD_LOCKED_OUT = error_response(
    "Too many wrong passwords for this username from this address: nothing was done. "
    "`detail` and the Retry-After header say when to try again."
)


def _password_checked(request: Request, password: str) -> Any:
    """The moment the password was proven, or a 403 saying it was wrong.

    Counted like a sign-in attempt (django-axes): enough wrong ones lock this
    username and address out, and the response becomes a 429."""
    if not password_reentry_matches(request._request, request.user, password):
        raise PermissionDenied("That is not your password; nothing was signed.")
    return timezone.now()


def _validation_error(error: DjangoValidationError) -> ValidationError:
    detail = (
        error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
    )
    return ValidationError(detail)


class EvaluationSignOffsView(APIView):
    """An evaluation's sign-offs; POST records your decision in the next role
    it needs (curator first, then regulator). A regulator's approval issues
    the certificate; 409 when someone else's decision got there first."""

    @extend_schema(responses=SignOffStateSerializer)
    def get(self, request: Request, pk: int) -> Response:
        state = signoffs.signoff_state(certification_rules.evaluation_for(request.user, pk))
        return Response(SignOffStateSerializer(state).data)

    @extend_schema(
        request=SignOffRequestSerializer,
        responses={
            201: SignOffSerializer,
            409: error_response("Someone else's decision got there first."),
            429: PASSWORD_LOCKED_OUT,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        evaluation = certification_rules.evaluation_for(request.user, pk)
        data = SignOffRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proven = _password_checked(request, data.validated_data["password"])
        try:
            signoff = signoffs.signoff_record(
                evaluation=evaluation,
                user=request.user,
                decision=data.validated_data["decision"],
                comment=data.validated_data["comment"],
                reauthenticated_at=proven,
            )
        except certification_rules.SignOffForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except certification_rules.SignOffConflict as conflict:
            return Response({"detail": str(conflict)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as error:
            raise _validation_error(error) from None
        return Response(SignOffSerializer(signoff).data, status=status.HTTP_201_CREATED)


class CertificateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Certificates of datasets you may see. They are never edited or deleted;
    a regulator may revoke one."""

    serializer_class = CertificateSerializer
    lookup_field = "number"
    filterset_fields = ["status"]
    ordering_fields = ["issued", "expires"]

    def get_queryset(self):
        return certification.certificates_for(self.request.user).order_by("-issued", "-id")

    def get_object(self) -> Certificate:
        return get_object_for_user(
            user=self.request.user,
            queryset=certification.certificates_for(self.request.user),
            perm=DATASET_VIEW,
            number=self.kwargs["number"].upper(),
        )

    @extend_schema(
        request=RevokeRequestSerializer,
        responses={
            200: CertificateSerializer,
            409: error_response("The certificate is no longer valid, so it cannot be revoked."),
            429: PASSWORD_LOCKED_OUT,
        },
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, number: str | None = None) -> Response:
        certificate = self.get_object()
        data = RevokeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proven = _password_checked(request, data.validated_data["password"])
        try:
            certificate = certification.certificate_revoke(
                certificate=certificate,
                user=request.user,
                reason=data.validated_data["reason"],
                reauthenticated_at=proven,
            )
        except certification_rules.SignOffForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except certification.CertificateStateError as conflict:
            return Response({"detail": str(conflict)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as error:
            raise _validation_error(error) from None
        return Response(self.get_serializer(certificate).data)


TOKEN_PARAMETER = OpenApiParameter(
    "token",
    str,
    required=False,
    description="The verification token from the certificate's verification link.",
)


class CertificateVerifyView(APIView):
    """Public, no login: whether a certificate is in force; with its
    verification token also what it certifies and its signature details."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses=VerificationSerializer, parameters=[TOKEN_PARAMETER], auth=[])
    def get(self, request: Request, number: str) -> Response:
        verification = certificate_public.certificate_public_check(
            number, request.query_params.get("token")
        )
        if verification is None:
            raise Http404
        return Response(VerificationSerializer(verification).data)


class CertificateFileView(APIView):
    """Public, no login: the signed certificate file, byte for byte as issued,
    for the number and its verification token (404 without)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("token", str, required=True)],
        auth=[],
    )
    def get(self, request: Request, number: str) -> HttpResponse:
        certificate = certificate_public.certificate_for_file(
            number, request.query_params.get("token")
        )
        if certificate is None:
            raise NotFound(
                f"No certificate file for {number} with this verification token: use the "
                "link on the certificate."
            )
        response = HttpResponse(
            certificate.signed_text.encode("utf-8"), content_type="application/json"
        )
        return as_attachment(response, f"{certificate.number}.json")
