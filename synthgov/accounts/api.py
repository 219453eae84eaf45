from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from synthgov.accounts.models import Membership
from synthgov.accounts.permissions import ROLE_PERMISSIONS
from synthgov.api_fields import ModelSerializer


class MembershipSerializer(ModelSerializer):
    organisation = serializers.CharField(source="organisation.name")
    organisation_slug = serializers.CharField(source="organisation.slug")
    organisation_kind = serializers.CharField(source="organisation.kind")

    class Meta:
        model = Membership
        fields = ["organisation", "organisation_slug", "organisation_kind", "role"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)
    full_name = serializers.CharField(allow_blank=True)
    is_staff = serializers.BooleanField()
    memberships = MembershipSerializer(many=True)
    permissions = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    """The signed-in user, their roles in each organisation and what those allow."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        memberships = list(Membership.objects.filter(user=user).select_related("organisation"))
        perms = sorted({p for m in memberships for p in ROLE_PERMISSIONS.get(m.role, ())})
        data = {
            "username": user.get_username(),
            "email": user.email,
            "full_name": user.get_full_name(),
            "is_staff": user.is_staff,
            "memberships": memberships,
            "permissions": perms,
        }
        return Response(MeSerializer(data).data)
