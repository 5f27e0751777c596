// A small ticket desk as an MCP server written with the official SDK: two tools, one of
// which fails on purpose. ticket-server.mjs serves it over stdio; the HTTP test serves it
// over Streamable HTTP in the test process.

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** A server over `tickets` (shared by the servers of one desk, one per HTTP request when stateless). */
export function ticketDesk(tickets = []) {
  const server = new Server({ name: 'tickets', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      {
        name: 'open_ticket',
        description: 'Opens a ticket and returns its number',
        inputSchema: {
          type: 'object',
          properties: { title: { type: 'string' } },
          required: ['title'],
          additionalProperties: false,
        },
      },
      { name: 'close_all', description: 'Closes every ticket', inputSchema: { type: 'object', properties: {} } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, (req) => {
    if (req.params.name === 'open_ticket') {
      tickets.push(String(req.params.arguments?.title));
      return { content: [{ type: 'text', text: `ticket #${tickets.length}: ${tickets.at(-1)}` }] };
    }
    return { content: [{ type: 'text', text: 'closing is not allowed here' }], isError: true };
  });
  return server;
}
