"""One pagination for every list: {count, next, previous, results}, `?page=` and `?page_size=`."""

from rest_framework.pagination import PageNumberPagination


class PlatformPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
