import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import '@xyflow/react/dist/style.css';
import './app.css';
import { lazy, Suspense } from 'react';
import { BrowserRouter, Route, Routes } from 'react-router';
import { Center, Loader } from '@mantine/core';
import { Providers } from './Providers';
import { Shell } from './components/Shell';
import { NotFound } from './components/NotFound';

const Dashboard = lazy(() => import('./pages/Dashboard'));
const Pipelines = lazy(() => import('./pages/pipelines/PipelinesPage'));
const PipelineEditor = lazy(() => import('./pages/pipelines/PipelineEditorPage'));
const Executions = lazy(() => import('./pages/executions/ExecutionsPage'));
const ExecutionDetail = lazy(() => import('./pages/executions/ExecutionDetailPage'));
const Storage = lazy(() => import('./pages/storage/StoragePage'));
const DeadLetters = lazy(() => import('./pages/deadletters/DeadLettersPage'));
const Search = lazy(() => import('./pages/search/SearchPage'));
const Chat = lazy(() => import('./pages/chat/ChatPage'));
const Webhooks = lazy(() => import('./pages/webhooks/WebhooksPage'));
const WebhookDetail = lazy(() => import('./pages/webhooks/WebhookDetailPage'));
const Access = lazy(() => import('./pages/access/AccessPage'));

export default function App() {
  return (
    <Providers>
      <BrowserRouter>
        <Shell>
          <Suspense
            fallback={
              <Center h={200}>
                <Loader />
              </Center>
            }
          >
            <Routes>
              <Route path="/" element={<Dashboard />} />
              <Route path="/pipelines" element={<Pipelines />} />
              <Route path="/pipelines/new" element={<PipelineEditor />} />
              <Route path="/pipelines/:id" element={<PipelineEditor />} />
              <Route path="/executions" element={<Executions />} />
              <Route path="/executions/:id" element={<ExecutionDetail />} />
              <Route path="/storage" element={<Storage />} />
              <Route path="/dead-letters" element={<DeadLetters />} />
              <Route path="/search" element={<Search />} />
              <Route path="/chat" element={<Chat />} />
              <Route path="/chat/:threadId" element={<Chat />} />
              <Route path="/webhooks" element={<Webhooks />} />
              <Route path="/webhooks/:id" element={<WebhookDetail />} />
              <Route path="/access" element={<Access />} />
              <Route path="*" element={<NotFound />} />
            </Routes>
          </Suspense>
        </Shell>
      </BrowserRouter>
    </Providers>
  );
}
