from django.urls import path

from audits.certification import views

urlpatterns = [
    path("evaluations/<int:pk>/signoff/", views.signoff_page, name="signoff"),
    path("certificates/", views.certificate_list, name="certificates"),
    path("certificates/<str:number>/", views.certificate_detail, name="certificate"),
    path("certificates/<str:number>/revoke/", views.certificate_revoke, name="certificate_revoke"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
]
