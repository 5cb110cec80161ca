"""The GraphQL documents fieldlink sends to Sentera.

The reference names the ``fields`` query, its ``pagination: {page, page_size}``
argument, an owner (organisation) argument and the ``total_count``, ``page``,
``page_size`` and ``results`` of its answer. The names of the input types and the
shape of ``organizations`` are not documented: hosts can replace either document
through settings, as long as it keeps the variables and the answer's shape.
"""

ORGANIZATIONS_QUERY = """\
query Organizations($pagination: PaginationInput!) {
  organizations(pagination: $pagination) {
    total_count
    page
    page_size
    results { sentera_id name }
  }
}
"""

FIELDS_QUERY = """\
query Fields($pagination: PaginationInput!, $owner: ID) {
  fields(pagination: $pagination, owner: $owner) {
    total_count
    page
    page_size
    results { sentera_id name latitude longitude }
  }
}
"""
