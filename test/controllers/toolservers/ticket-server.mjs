// An MCP server written with the official SDK, started over stdio by the ToolServer tests:
// two tools of a small ticket desk, one of which fails on purpose.

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const server = new Server({ name: 'tickets', version: '1.0.0' }, { capabilities: { tools: {} } });
const tickets = [];

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

await server.connect(new StdioServerTransport());
