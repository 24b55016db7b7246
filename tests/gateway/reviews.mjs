// The test's second subgraph: reviews of products. It owns `Review` and
// `Query.latestReviews`, and extends the commerce subgraph's `Product`
// (keyed by its global id) with `reviews`. A review's `product` is only a
// reference (`{ __typename, id }`): its name and price come from the
// commerce subgraph's `_entities`, which is what the gateway's plan must
// call for them.
//
// Built with @apollo/subgraph (the reference subgraph library: it adds
// `_service` and `_entities` as the federation spec has them) and served by
// @apollo/server in this process.
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

  "A product of the commerce subgraph, seen by its reviews."
  type Product @key(fields: "id") {
    id: ID!
    "Its reviews, oldest first."
    reviews: [Review!]!
  }

  "What a shopper said of a product."
  type Review {
    id: ID!
    "From 1 to 5."
    rating: Int!
    body: String!
    "The product reviewed (resolved by the commerce subgraph)."
    product: Product!
  }

  type Query {
    "The latest reviews of any product, newest first."
    latestReviews(first: Int! = 10): [Review!]!
  }
`);

/**
 * Starts the reviews subgraph on `port`; `reviews` is its data (`{ id,
 * productId, rating, body }`, oldest first), read at each request. Resolves
 * to `{ url, stop, references }`, `references()` telling how many product
 * representations the gateway asked it to resolve.
 */
export async function startReviews(port, reviews) {
  let references = 0;
  const resolvers = {
    Query: {
      latestReviews: (_, { first }) => reviews.slice(-first).reverse(),
    },
    Product: {
      __resolveReference: ({ id }) => {
        references += 1;
        return { id };
      },
      reviews: ({ id }) => reviews.filter((r) => r.productId === id),
    },
    Review: {
      product: (review) => ({ __typename: 'Product', id: review.productId }),
    },
  };
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs, resolvers }]),
    // Traces for Apollo's usage reporting, which this test does not use.
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
  return { url, stop: () => server.stop(), references: () => references };
}
