// The ticket desk (ticket-desk.mjs), an MCP server written with the official SDK, started
// over stdio by the ToolServer tests.

import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ticketDesk } from './ticket-desk.mjs';

await ticketDesk().connect(new StdioServerTransport());
