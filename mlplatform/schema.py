"""The root GraphQL schema, composed from each app's queries and mutations."""

from __future__ import annotations

from typing import Any

import graphene
import graphql_jwt
from django.contrib.auth import get_user_model
from graphene_django import DjangoObjectType

from mlplatform.auth import require_authenticated
from mlplatform.graphql_view import principal_of
from models_app.graphql.mutations import ModelMutations
from models_app.graphql.queries import ModelQueries
from predictions.graphql.mutations import PredictionMutations
from predictions.graphql.queries import PredictionQueries


class UserType(DjangoObjectType):
    class Meta:
        model = get_user_model()
        name = "User"
        fields = ("id", "username", "email", "is_staff", "date_joined")


class Query(ModelQueries, PredictionQueries, graphene.ObjectType):
    me = graphene.Field(UserType, required=True)

    @staticmethod
    def resolve_me(root: Any, info: Any) -> Any:
        principal = require_authenticated(principal_of(info))
        return get_user_model().objects.get(pk=principal.user_id)


class Mutation(ModelMutations, PredictionMutations, graphene.ObjectType):
    token_auth = graphql_jwt.ObtainJSONWebToken.Field()
    verify_token = graphql_jwt.Verify.Field()
    refresh_token = graphql_jwt.Refresh.Field()


schema = graphene.Schema(query=Query, mutation=Mutation)
