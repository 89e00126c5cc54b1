"""Every GraphQL document the Shopify adapter sends, in one place.

Keeping them together lets the test suite validate each one against Shopify's published
Admin schema for the pinned version (``tests/fixtures/shopify``): a misspelt field fails
in CI, not in a merchant's shop. :data:`DOCUMENTS` must list every document, including the
inner queries handed to bulk operations.

Field selections are composed from Python strings rather than GraphQL fragments so that
the same selection can be used inside bulk queries, which are written with ``edges``.
"""

from __future__ import annotations

_MONEY = "shopMoney { amount currencyCode }"

CUSTOMER_FIELDS = """
    id updatedAt createdAt email phone firstName lastName tags
    defaultAddress { address1 address2 city provinceCode zip countryCodeV2 }
    amountSpent { amount currencyCode }
"""

ORDER_FIELDS = f"""
    id name updatedAt processedAt cancelledAt displayFinancialStatus test
    customer {{ id }}
    totalPriceSet {{ {_MONEY} }}
    refunds {{ id createdAt updatedAt totalRefundedSet {{ {_MONEY} }} }}
"""

LINE_FIELDS = f"""
    id sku name quantity
    discountedTotalSet {{ {_MONEY} }}
    product {{ productType }}
"""

#: Lines per order fetched by the paged sync; orders with more are marked incomplete.
LINES_PER_ORDER = 100

CUSTOMERS_PAGE = f"""
query LoyaltykitCustomers($first: Int!, $after: String, $query: String) {{
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {CUSTOMER_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

ORDERS_PAGE = f"""
query LoyaltykitOrders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {ORDER_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

ORDERS_PAGE_WITH_LINES = f"""
query LoyaltykitOrdersWithLines($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{
      {ORDER_FIELDS}
      lineItems(first: {LINES_PER_ORDER}) {{
        nodes {{ {LINE_FIELDS} }}
        pageInfo {{ hasNextPage }}
      }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

ORDER_BY_ID = f"""
query LoyaltykitOrder($id: ID!) {{
  order(id: $id) {{
    {ORDER_FIELDS}
    lineItems(first: {LINES_PER_ORDER}) {{
      nodes {{ {LINE_FIELDS} }}
      pageInfo {{ hasNextPage }}
    }}
  }}
}}
"""

CUSTOMER_BY_ID = f"""
query LoyaltykitCustomer($id: ID!) {{
  customer(id: $id) {{ {CUSTOMER_FIELDS} }}
}}
"""

# Bulk operations: the inner queries run by Shopify, then the run/poll documents.
BULK_CUSTOMERS = f"""
{{
  customers {{
    edges {{ node {{ {CUSTOMER_FIELDS} }} }}
  }}
}}
"""

BULK_ORDERS = f"""
{{
  orders {{
    edges {{
      node {{
        {ORDER_FIELDS}
        lineItems {{ edges {{ node {{ {LINE_FIELDS} }} }} }}
      }}
    }}
  }}
}}
"""

BULK_RUN = """
mutation LoyaltykitBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}
"""

BULK_POLL = """
query LoyaltykitBulkPoll($id: ID!) {
  node(id: $id) {
    ... on BulkOperation {
      id status errorCode objectCount url partialDataUrl createdAt completedAt
    }
  }
}
"""

CURRENT_BULK = """
query LoyaltykitCurrentBulk {
  currentBulkOperation { id status query }
}
"""

BULK_CANCEL = """
mutation LoyaltykitBulkCancel($id: ID!) {
  bulkOperationCancel(id: $id) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

# Push: discount codes, tags, metafields.
DISCOUNT_BY_CODE = """
query LoyaltykitDiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount {
      __typename
      ... on DiscountCodeBasic { title startsAt endsAt usageLimit }
    }
  }
}
"""

DISCOUNT_CREATE = """
mutation LoyaltykitDiscountCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { code field message }
  }
}
"""

TAGS_ADD = """
mutation LoyaltykitTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

TAGS_REMOVE = """
mutation LoyaltykitTagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

METAFIELDS_SET = """
mutation LoyaltykitMetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id key }
    userErrors { code elementIndex field message }
  }
}
"""

#: name -> document, for schema validation in the test suite.
DOCUMENTS: dict[str, str] = {
    "customers_page": CUSTOMERS_PAGE,
    "orders_page": ORDERS_PAGE,
    "orders_page_with_lines": ORDERS_PAGE_WITH_LINES,
    "order_by_id": ORDER_BY_ID,
    "customer_by_id": CUSTOMER_BY_ID,
    "bulk_customers": BULK_CUSTOMERS,
    "bulk_orders": BULK_ORDERS,
    "bulk_run": BULK_RUN,
    "bulk_poll": BULK_POLL,
    "current_bulk": CURRENT_BULK,
    "bulk_cancel": BULK_CANCEL,
    "discount_by_code": DISCOUNT_BY_CODE,
    "discount_create": DISCOUNT_CREATE,
    "tags_add": TAGS_ADD,
    "tags_remove": TAGS_REMOVE,
    "metafields_set": METAFIELDS_SET,
}
