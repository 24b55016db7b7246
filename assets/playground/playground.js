// Starts GraphiQL with two tabs, one per demo token, each token in its tab's
// Headers editor where a person can see, copy or change it. Inlined into
// index.html by src/http/playground.rs, which puts the tokens (a JSON object)
// in place of the marker below and allows exactly this script by its hash in
// the page's Content-Security-Policy.
(function () {
  'use strict';
  var tokens = __PLAYGROUND_TOKENS__;
  var container = document.getElementById('graphiql');
  if (!window.React || !window.ReactDOM || !window.GraphiQL || !window.graphqlWs) {
    container.textContent =
      'The playground scripts did not load: see the browser console.';
    return;
  }

  function headers(authorization) {
    return JSON.stringify({ Authorization: authorization }, null, 2);
  }

  // GraphiQL restores its tabs (and their queries) from localStorage when it
  // finds any, and never stores their headers: a second visit would open on
  // tabs without a token. So the tabs live in this page's memory and every
  // visit starts from the tabs below, with the tokens this server issued;
  // everything else (theme, history, panel sizes) stays in localStorage.
  var perVisit = /^graphiql:(tabState|query|variables|headers)$/;
  var memory = new Map();
  function persistent(f) {
    try {
      return f(window.localStorage);
    } catch (e) {
      return null; // storage disabled: GraphiQL copes with nothing stored
    }
  }
  function graphiqlKeys(store) {
    var keys = [];
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key && key.indexOf('graphiql:') === 0) keys.push(key);
    }
    return keys;
  }
  var storage = {
    getItem: function (key) {
      if (perVisit.test(key)) return memory.has(key) ? memory.get(key) : null;
      return persistent(function (s) { return s.getItem(key); });
    },
    setItem: function (key, value) {
      if (perVisit.test(key)) memory.set(key, String(value));
      else persistent(function (s) { s.setItem(key, value); });
    },
    removeItem: function (key) {
      memory.delete(key);
      persistent(function (s) { s.removeItem(key); });
    },
    clear: function () {
      memory.clear();
      persistent(function (s) {
        graphiqlKeys(s).forEach(function (key) { s.removeItem(key); });
      });
    },
    get length() {
      return memory.size + (persistent(function (s) { return graphiqlKeys(s).length; }) || 0);
    },
  };

  // Queries and mutations go over HTTP with the tab's headers. A
  // subscription goes over a WebSocket (graphql-transport-ws, on the same
  // /graphql), which carries no headers: its token travels in the
  // connection_init payload instead. So there is one socket per distinct
  // Authorization header, opened on the first subscription of a tab that
  // sends it and closed by graphql-ws once it has nothing left to carry.
  var http = GraphiQL.createFetcher({ url: '/graphql' });
  var sockets = new Map();
  var socketUrl =
    (window.location.protocol === 'https:' ? 'wss://' : 'ws://') + window.location.host + '/graphql';
  function socketFor(authorization) {
    if (!sockets.has(authorization)) {
      sockets.set(
        authorization,
        graphqlWs.createClient({
          url: socketUrl,
          connectionParams: authorization ? { Authorization: authorization } : {},
        }),
      );
    }
    return sockets.get(authorization);
  }
  function headerValue(headers, name) {
    var found = Object.keys(headers || {}).find(function (key) {
      return key.toLowerCase() === name;
    });
    return found ? String(headers[found]) : '';
  }
  // Whether the operation to run (by name, or the document's only one) is
  // a subscription, from the document GraphiQL parsed.
  function isSubscription(params, document) {
    var operations = ((document && document.definitions) || []).filter(function (d) {
      return d.kind === 'OperationDefinition';
    });
    var chosen = operations.find(function (d) {
      return params.operationName ? d.name && d.name.value === params.operationName : true;
    });
    return Boolean(chosen && chosen.operation === 'subscription');
  }
  function fetcher(params, options) {
    if (!isSubscription(params, options && options.documentAST)) return http(params, options);
    var authorization = headerValue(options && options.headers, 'authorization');
    return socketFor(authorization).iterate({
      query: params.query,
      variables: params.variables,
      operationName: params.operationName,
    });
  }

  // A tab is titled after its operation's name: DemoUser and DemoAdmin say
  // whose token the tab's headers carry.
  var userQuery = [
    "# The demo user's tab: the Headers tab (below) holds the demo user's",
    '# token. Edit or delete it to act as someone else; run with Ctrl-Enter',
    '# or the run button.',
    'query DemoUser {',
    '  viewer { subject balance }',
    '  products(first: 3) { nodes { name price stock } }',
    '}',
    '',
    '# Live: put an order id of yours in Variables ({ "orderId": "..." }) and',
    '# run WatchOrder; pay the order elsewhere and see it change here.',
    'subscription WatchOrder($orderId: ID!) {',
    '  orderUpdated(orderId: $orderId) { id status paidAt expiresAt }',
    '}',
    '',
  ].join('\n');
  var adminQuery = [
    "# The demo admin's tab: its token (in the Headers tab) carries the admin",
    '# role, which unlocks createProduct, adjustStock and createCoupon.',
    'query DemoAdmin {',
    '  viewer { subject }',
    '  products(first: 5) { totalCount nodes { id name stock } }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      // GraphiQL 3 fills the Headers editor it starts with, and any tab
      // opened with "+", from defaultHeaders, not from the first tab.
      defaultHeaders: headers(tokens.user),
      defaultTabs: [
        { query: userQuery, headers: headers(tokens.user) },
        { query: adminQuery, headers: headers(tokens.admin) },
      ],
      // Open on the Headers tab, so that the token is in sight.
      defaultEditorToolsVisibility: 'headers',
    }),
  );
})();
